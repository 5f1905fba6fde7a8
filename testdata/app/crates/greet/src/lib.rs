//! The local library of the test workspace.

/// Formats a greeting with the number of words, counted with memchr and
/// printed with itoa.
pub fn greeting(text: &str, target: &str) -> String {
    let words = memchr::memchr_iter(b' ', text.as_bytes()).count() + 1;
    let mut buf = itoa::Buffer::new();
    format!("{} ({} words) on {}", text, buf.format(words), target)
}
