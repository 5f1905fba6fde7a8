// The workspace's second binary: rust:build must be told which one to
// ship (-bin / MUSLRUST_CHEF_BIN), and the recipe is narrowed to it.
fn main() {
    let text = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    println!("{}", words::to_json(&text));
}
