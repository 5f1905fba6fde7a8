fn main() {
    println!("{}", textkit::shout("hello from outside"));
}
