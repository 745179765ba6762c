/* SPDX-License-Identifier: BSD-2-Clause */
/* libobjcuser.m — a root class, a category, a protocol and selectors. */
__attribute__((objc_root_class))
@interface DBRoot {
    void *isa;
}
+ (id)make;
- (int)value;
@end

@protocol DBGreeter
- (int)greet;
@end

@implementation DBRoot
+ (id)make { return 0; }
- (int)value { return 42; }
@end

@interface DBRoot (DBExtra) <DBGreeter>
@end

@implementation DBRoot (DBExtra)
- (int)greet { return [self value] + 1; }
@end

int objcuser_use(DBRoot *r) { return [r greet] + [r value]; }
