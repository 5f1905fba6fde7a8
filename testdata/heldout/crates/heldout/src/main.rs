cf::cfg_if! {
    if #[cfg(target_arch = "aarch64")] {
        fn find(hay: &str) -> Option<usize> {
            aho_corasick::AhoCorasick::new([env!("HELDOUT_WORD")]).find(hay).map(|m| m.start())
        }
    } else {
        fn find(hay: &str) -> Option<usize> {
            hay.find(env!("HELDOUT_WORD"))
        }
    }
}

#[cfg(feature = "fmt")]
fn count(n: usize) -> String {
    itoa::Buffer::new().format(n).to_owned()
}

#[cfg(not(feature = "fmt"))]
fn count(n: usize) -> String {
    n.to_string()
}

fn main() {
    let text = "the heldout workspace";
    // Set by a test's .cargo/config.toml [env]: a config change that
    // changes the binary.
    let note = option_env!("HELDOUT_NOTE").unwrap_or("no note");
    println!("{} {} at {:?}, {} bytes, {}", helper::name(), env!("HELDOUT_WORD"), find(text), count(text.len()), note);
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_like_serde_json() {
        assert_eq!(super::count(21), serde_json::to_string(&21).unwrap());
    }
}
