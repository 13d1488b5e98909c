import ArgumentParser
import Membership

/// `outrider keygen`, as `serf keygen`: a new random 32-byte key in base64 for `roles.gossip.encryption.keys`.
struct Keygen: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "keygen", abstract: "Print a new gossip encryption key (base64, 32 bytes).")

    func run() {
        print(Keyring.generateKey())
    }
}
