// Checks the word the binary looks for with regex-syntax, a build tool
// that must never appear among the binary's linked crates.
fn main() {
    let word = "held";
    let hir = regex_syntax::Parser::new().parse(word).expect("a valid pattern");
    assert!(hir.is_literal(), "{} is not a literal", word);
    println!("cargo:rustc-env=HELDOUT_WORD={}", word);
    println!("cargo:rerun-if-changed=build.rs");
}
