#[test]
fn finds() {
    assert_eq!(core_lib::find(b"xyz", b'z'), Some(2));
}
