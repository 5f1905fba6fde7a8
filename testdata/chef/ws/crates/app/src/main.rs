fn main() {
    let mut buf = itoa::Buffer::new();
    let n = macros::answer!();
    println!("{} {} {:?}", core_lib::greeting(), buf.format(n), core_lib::find(b"abc", b'c'));
}
