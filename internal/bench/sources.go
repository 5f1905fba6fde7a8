package bench

// The sources (Rust, and the C file of the cc build script) of the
// generated workspaces (Generate).

const modelLib = `use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub name: String,
    pub count: u32,
    pub tags: Vec<String>,
}

impl Event {
    pub fn new(name: &str, count: u32) -> Self {
        Event { name: name.to_string(), count, tags: vec!["bench".to_string()] }
    }
}
`

const cbitsBuild = `fn main() {
    cc::Build::new().file("csrc/mix.c").compile("mix");
    println!("cargo:rerun-if-changed=csrc/mix.c");
}
`

const cbitsC = `#include <stddef.h>
#include <stdint.h>

uint32_t mix_fnv1a(const unsigned char *p, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 16777619u;
    }
    return h;
}
`

const cbitsLib = `extern "C" {
    fn mix_fnv1a(p: *const u8, n: usize) -> u32;
}

pub fn fnv1a(s: &str) -> u32 {
    // SAFETY: mix_fnv1a reads exactly n bytes of p.
    unsafe { mix_fnv1a(s.as_ptr(), s.len()) }
}
`

const utilLib = `pub fn to_json(e: &model::Event) -> String {
    json::to_string(e).expect("an Event serializes")
}

pub fn label(e: &model::Event) -> String {
    helper::shout(&e.name)
}
`

const helperLib = `pub fn shout(s: &str) -> String {
    s.to_uppercase()
}
`

const appMainSmall = `mod banner;

fn main() {
    let e = model::Event::new("bench edit 0", 3);
    let back: model::Event = serde_json::from_str(&util::to_json(&e)).expect("round trip");
    println!("{} {} {} fnv1a={:08x}", banner::BANNER, util::label(&back), back.count, cbits::fnv1a(&back.name));
}
`

const toolMainSmall = `fn main() {
    let e = model::Event::new("tool", 1);
    println!("{}", serde_json::to_string_pretty(&e).expect("serializes"));
}
`

const appMainLarge = `mod banner;

use std::time::Duration;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let re = regex::Regex::new(r"^bench edit (\d+)$")?;
    let e = model::Event::new("bench edit 0", 3);
    let (tx, mut rx) = tokio::sync::mpsc::channel(4);
    let worker = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1)).await;
        tx.send(util::to_json(&e)).await.expect("receiver alive");
    });
    let text = rx.recv().await.expect("one message");
    worker.await?;
    let back: model::Event = serde_json::from_str(&text)?;
    let edit = re.captures(&back.name).map(|c| c[1].to_string()).unwrap_or_default();
    log::info!("edit {}", edit);
    println!("{} {} edit={} fnv1a={:08x}", banner::BANNER, util::label(&back), edit, cbits::fnv1a(&back.name));
    Ok(())
}
`

const toolMainLarge = `use clap::Parser;

#[derive(Debug, thiserror::Error)]
enum ToolError {
    #[error("count {0} is too large")]
    TooLarge(u32),
}

/// Prints an event as JSON.
#[derive(Parser, Debug)]
struct Args {
    /// The event's name.
    #[arg(long, default_value = "tool")]
    name: String,
    /// How many times it happened.
    #[arg(long, default_value_t = 1)]
    count: u32,
}

fn main() -> Result<(), ToolError> {
    let args = Args::parse();
    if args.count > 1000 {
        return Err(ToolError::TooLarge(args.count));
    }
    let e = model::Event::new(&args.name, args.count);
    println!("{}", serde_json::to_string_pretty(&e).expect("serializes"));
    Ok(())
}
`
