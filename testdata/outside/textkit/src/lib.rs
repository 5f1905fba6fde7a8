pub fn shout(s: &str) -> String {
    let mut buf = itoa::Buffer::new();
    format!("{} ({} bytes)", s.to_uppercase(), buf.format(s.len()))
}
