#include <stdio.h>
int main(void)
{
    fprintf(stderr, "crmsyncctl: under construction\n");
    return 1;
}
