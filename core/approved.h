/* approved.h — what only an approved request lets through, checked on every
 * write beside the access rules: a quote is accepted only with a discount
 * its approved discount requests allow (quotes.discount_approved, which only
 * the request engine writes). */
#ifndef KAM_APPROVED_H
#define KAM_APPROVED_H
#include "store.h"

/* 0, or KAM_EPERM with the quote, its discount and what is approved. */
int approved_check(const coll_def *c, int op, const kval *newv, const kval *oldv, kam_err *e);

#endif
