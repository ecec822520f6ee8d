/*
 * fault.h - named fault points for tests of rollback.
 *
 * Code that builds something in steps calls vn_fault("point") between them
 * and fails as if the step had failed when it returns true.  Points are armed
 * from the environment (VIRTNET_FAULT=point[,point...], every pass fails) or
 * at run time with vn_fault_arm() (`virtnet debug fault point=NAME`: the next
 * pass fails once; `NAME@N`: the N-th pass from now fails, once, the N-1
 * before it succeed, e.g. update_device@2 fails a live update after its first
 * device moved).  Unarmed, a check is one load and a compare.
 */
#ifndef VN_FAULT_H
#define VN_FAULT_H

#include <stdbool.h>

/* True when 'point' should fail now. */
bool vn_fault(const char *point);

#define VN_FAULT_NTH_MAX 1000000

/*
 * Makes the next pass through 'point' fail (once), or with "NAME@N" the N-th
 * pass (1 <= N <= VN_FAULT_NTH_MAX; NAME@1 is NAME).  Arming replaces what
 * was armed.  Returns 0 or -EINVAL (bad name or N).
 */
int vn_fault_arm(const char *point);

#endif /* VN_FAULT_H */
