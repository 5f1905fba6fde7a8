fn main() {
    let text = "hello from app v1";
    println!("{}", greet::greeting(text, env!("APP_TARGET")));
    println!("{}", extra::describe(text));
}

cfg_if::cfg_if! {
    if #[cfg(target_arch = "x86_64")] {
        mod extra {
            #[derive(serde::Serialize)]
            struct Words<'a> {
                count: usize,
                words: Vec<&'a str>,
            }

            pub fn describe(text: &str) -> String {
                let re = regex::Regex::new(r"[a-z0-9]+").expect("valid regex");
                let words: Vec<&str> = re.find_iter(text).map(|m| m.as_str()).collect();
                serde_json::to_string(&Words { count: words.len(), words }).expect("serializable")
            }
        }
    } else {
        mod extra {
            pub fn describe(text: &str) -> String {
                format!("{} bytes", text.len())
            }
        }
    }
}
