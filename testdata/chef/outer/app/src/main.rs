fn main() {
    let _g = scopeguard::guard((), |_| println!("bye"));
    println!("{}", shared::value());
}
