// SPDX-License-Identifier: BSD-2-Clause
// libcxxuser.cpp — C++ without exceptions or RTTI: vtables (pointers to
// code in __DATA_CONST), operator new/delete from libSystem, a pure
// virtual, and a thread_local (TLV descriptors binding __tlv_bootstrap).
struct Shape {
    virtual int area() const = 0;
    virtual ~Shape() {}
};

struct Square : Shape {
    int side;
    explicit Square(int s) : side(s) {}
    int area() const override { return side * side; }
};

struct Circle : Shape {
    int r;
    explicit Circle(int x) : r(x) {}
    int area() const override { return 3 * r * r; }
};

thread_local int cxx_calls = 0;

extern "C" int cxx_total(int x)
{
    Shape *shapes[2] = {new Square(x), new Circle(x)};
    int sum = 0;
    for (Shape *s : shapes) {
        sum += s->area();
        delete s;
    }
    return sum + cxx_calls++;
}
