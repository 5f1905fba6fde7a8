pub fn find(hay: &[u8], needle: u8) -> Option<usize> {
    memchr::memchr(needle, hay)
}

pub fn greeting() -> &'static str {
    env!("CORE_LIB_GREETING")
}
