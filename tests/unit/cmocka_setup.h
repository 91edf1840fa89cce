/* cmocka needs these headers first, in this order. */
#ifndef CRMSYNC_TEST_CMOCKA_SETUP_H
#define CRMSYNC_TEST_CMOCKA_SETUP_H
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#endif
