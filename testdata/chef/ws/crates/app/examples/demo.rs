fn main() {
    println!("{}", core_lib::greeting());
}
