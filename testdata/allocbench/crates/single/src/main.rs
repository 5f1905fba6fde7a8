//! A single-threaded program that allocates: it spawns no thread, so
//! muslrust-chef's verify must not call it multi-threaded.
fn main() {
    let mut v: Vec<String> = Vec::new();
    for i in 0..1000 {
        v.push(format!("item {}", i));
    }
    let total: usize = v.iter().map(|s| s.len()).sum();
    println!("single: {} strings, {} bytes", v.len(), total);
}
