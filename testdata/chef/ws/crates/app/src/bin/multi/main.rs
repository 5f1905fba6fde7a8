fn main() {
    println!("multi");
}
