/* SPDX-License-Identifier: BSD-2-Clause */
/* libobjcsub.m — a subclass of another image's class (a cross-image class
 * bind) that adopts a protocol of the same name as libobjcuser's, and a
 * subclass of it (DBLeaf: below the flattening root DBChild that
 * objc-opts.json names in flatteningRoots, its IMP cache inlines DBChild's
 * methods). */
__attribute__((objc_root_class))
@interface DBRoot {
    void *isa;
}
- (int)value;
@end

@protocol DBGreeter
- (int)greet;
@end

@interface DBChild : DBRoot <DBGreeter>
@end

@implementation DBChild
- (int)greet { return [self value] * 2; }
- (int)value { return 7; }
@end

@interface DBLeaf : DBChild
@end

@implementation DBLeaf
- (int)leaf { return 3; }
@end

int objcsub_use(DBChild *c) { return [c greet]; }
