/* SPDX-License-Identifier: BSD-2-Clause */
/* libobjccat.m — categories for preattachment (dscbuild --preattach-categories):
 * DBBare has no methods, protocols or properties of its own and is extended
 * by two categories of this image; DBFull has its own lists and one category
 * here; DBRoot (libobjcuser's class, which has its own category there) gets
 * one more from this image: every list kind, own lists present and absent;
 * objccat_use sends messages (selrefs, a stub). */
__attribute__((objc_root_class))
@interface DBRoot {
    void *isa;
}
@end

@protocol DBNamed
- (int)nameLength;
@end

@protocol DBCounted
+ (int)count;
@end

__attribute__((objc_root_class))
@interface DBBare {
    void *isa;
    int n;
}
@end

@implementation DBBare
@end

__attribute__((objc_root_class))
@interface DBFull <DBCounted> {
    void *isa;
}
@property(readonly) int size;
@property(class, readonly) int kind;
@end

@implementation DBFull
+ (int)count { return 1; }
+ (int)kind { return 2; }
- (int)size { return 3; }
@end

@interface DBBare (DBBareNamed) <DBNamed>
@property(readonly) int extra;
@property(class, readonly) int shared;
@end

@implementation DBBare (DBBareNamed)
- (int)nameLength { return 4; }
- (int)extra { return 5; }
+ (int)shared { return 6; }
@end

@interface DBBare (DBBareCounted) <DBCounted>
@end

@implementation DBBare (DBBareCounted)
+ (int)count { return 7; }
@end

@interface DBFull (DBFullNamed) <DBNamed>
@property(readonly) int more;
@end

@implementation DBFull (DBFullNamed)
- (int)nameLength { return 8; }
- (int)more { return 9; }
@end

@interface DBRoot (DBRootCounted) <DBCounted>
@property(readonly) int remote;
@property(class, readonly) int remoteShared;
@end

@implementation DBRoot (DBRootCounted)
- (int)remote { return 10; }
+ (int)count { return 11; }
+ (int)remoteShared { return 12; }
@end

int objccat_use(DBBare *b, DBRoot *r) { return [b nameLength] + [r remote]; }
