fn main() {
    let v: either::Either<u8, u8> = either::Either::Left(1);
    println!("{v:?}");
}
