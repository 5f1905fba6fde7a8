fn main() {
    let _ = core_lib::find(b"bench", b'h');
}
