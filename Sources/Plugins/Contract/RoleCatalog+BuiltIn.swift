extension RoleCatalog {
    /// The roles this build of outrider provides, in the order ties are broken when starting.
    public static let builtIn = RoleCatalog([
        AnyRolePlugin(ProxyRolePlugin())
    ])
}
