/// The release version: the one place it is written. `make deb` and the Debian changelog read it from here.
enum OutriderVersion {
    static let number = "0.1.0"
}
