pub fn name() -> &'static str {
    if regex::Regex::new("^h[a-z]+$").expect("a valid pattern").is_match("helper") {
        "helper"
    } else {
        "no helper"
    }
}
