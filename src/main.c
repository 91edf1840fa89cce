#include <stdio.h>
int main(void)
{
    fprintf(stderr, "crmsyncd: under construction\n");
    return 1;
}
