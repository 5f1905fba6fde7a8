fn main() {
    assert_eq!(core_lib::find(b"ab", b'b'), Some(1));
}
