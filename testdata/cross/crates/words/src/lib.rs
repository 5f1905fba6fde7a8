#[derive(serde::Serialize)]
struct Words<'a> {
    count: usize,
    words: Vec<&'a str>,
}

/// The words of text as JSON: {"count":N,"words":[...]}.
pub fn to_json(text: &str) -> String {
    let re = regex::Regex::new(r"[a-z0-9]+").expect("valid regex");
    let words: Vec<&str> = re.find_iter(text).map(|m| m.as_str()).collect();
    serde_json::to_string(&Words { count: words.len(), words }).expect("serializable")
}
