pub fn value() -> String {
    itoa::Buffer::new().format(7u8).to_string()
}
