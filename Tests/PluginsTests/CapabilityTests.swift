import Testing

@testable import Plugins

/// One declaration per capability, its value type included; uses decided by settings; a required capability nobody
/// offers reported where the file asks for it.
@Suite struct CapabilityTests {
    let log = EventLog()

    func catalog(consumerReads reads: AnyCapability = AnyCapability(.greeting), withProvider: Bool = true) -> RoleCatalog {
        RoleCatalog(
            [AnyRolePlugin(TestRolePlugin(name: "consumer", uses: [reads], log: log))]
                + (withProvider ? [AnyRolePlugin(TestRolePlugin(name: "provider", offers: [AnyCapability(.greeting)], log: log))] : [])
        )
    }

    /// The diagnostics of a file that must not validate, as `LINE:COLUMN: message`.
    func problems(_ text: String, in catalog: RoleCatalog) -> [String] {
        do {
            _ = try OutriderConfiguration.parse(text, path: "c.yaml", catalog: catalog, environment: [:])
            Issue.record("expected the configuration to be rejected")
            return []
        } catch {
            return error.diagnostics.map { "\($0.location.line):\($0.location.column): \($0.message)" }
        }
    }

    @Test func aCapabilityIsItsNameAndItsValueType() {
        #expect(AnyCapability(Capability<String>("greeting")) == AnyCapability(.greeting))
        #expect(AnyCapability(Capability<Int>("greeting")) != AnyCapability(.greeting))
        #expect(AnyCapability(Capability<Int>("greeting")).valueTypeName == "Int")
    }

    @Test func anOfferedValueIsReadBackWithItsType() {
        var offers = CapabilityOffers()
        offers.offer("hola", as: .greeting)
        #expect(offers.capabilities == [AnyCapability(.greeting)])
        var capabilities = Capabilities()
        for offer in offers.values.values {
            capabilities.offers[offer.capability.name] = .init(capability: offer.capability, provider: "provider", generation: 1, value: offer.value)
        }
        #expect(capabilities[.greeting] == "hola")
        #expect(capabilities[Capability<String>("farewell")] == nil)
    }

    /// Reading a value through a declaration of another type is a bug, never an absent capability.
    @Test func readingAValueAsAnotherTypeStopsTheProcess() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            var capabilities = Capabilities()
            capabilities.offers["greeting"] = .init(capability: AnyCapability(.greeting), provider: "provider", generation: 1, value: "hola")
            _ = capabilities[Capability<Int>("greeting")]
        }
        let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(message.contains("capability 'greeting' is offered by role provider as String but read as Int"), "\(message)")
    }

    @Test func usesFollowTheSettings() throws {
        let catalog = catalog()
        let optional = try OutriderConfiguration.parse("roles:\n  consumer: {}\n", path: "c.yaml", catalog: catalog, environment: [:])
        #expect(catalog["consumer"]?.uses(of: optional.roles[0].settings) == [.optional(.greeting)])
        let required = try OutriderConfiguration.parse("roles:\n  consumer:\n    require: true\n  provider: {}\n", path: "c.yaml", catalog: catalog, environment: [:])
        let uses = try #require(catalog["consumer"]?.uses(of: required.roles[0].settings))
        #expect(uses == [.required(.greeting, by: SourceLocation(file: "c.yaml", line: 3, column: 14))])
        #expect(catalog.startOrder(of: required.roles) == ["provider", "consumer"])
    }

    @Test func anOptionalCapabilityMayHaveNoProvider() throws {
        let configuration = try OutriderConfiguration.parse("roles:\n  consumer:\n    require: false\n", path: "c.yaml", catalog: catalog(), environment: [:])
        #expect(configuration.enabledRoles.map(\.name) == ["consumer"])
    }

    @Test func aRequiredCapabilityWithoutProviderIsReportedAtTheSettingThatNeedsIt() {
        #expect(problems("roles:\n  consumer:\n    require: true\n", in: catalog()) == [
            "3:14: roles.consumer needs the greeting capability, which no enabled role offers (enable provider)"
        ])
        #expect(problems("roles:\n  consumer:\n    require: true\n  provider:\n    enabled: false\n", in: catalog()) == [
            "3:14: roles.consumer needs the greeting capability, which no enabled role offers (enable provider)"
        ])
        #expect(problems("roles:\n  consumer:\n    require: true\n", in: catalog(withProvider: false)) == [
            "3:14: roles.consumer needs the greeting capability, which no enabled role offers (no role in this build offers it)"
        ])
    }

    @Test func aUserAndAProviderDisagreeingOnTheTypeIsReported() {
        let disagreeing = catalog(consumerReads: AnyCapability(Capability<Int>("greeting")))
        #expect(problems("roles:\n  consumer:\n    require: true\n  provider: {}\n", in: disagreeing) == [
            "3:14: roles.consumer reads the greeting capability as Int, but role provider offers it as String: the two roles' declarations disagree (a bug in this build)"
        ])
        #expect(problems("roles:\n  consumer: {}\n  provider: {}\n", in: disagreeing) == [
            "2:3: roles.consumer reads the greeting capability as Int, but role provider offers it as String: the two roles' declarations disagree (a bug in this build)"
        ])
    }

    @Test func aRoleOfferingOtherThanItsPluginDeclaresFailsToStart() async throws {
        let fixture = HostFixture()
        let roles = try fixture.roles("roles:\n  provider:\n    offer: false\n")
        await #expect {
            _ = try await fixture.host.start(roles)
        } throws: { error in
            (error as? RoleStartFailure)?.description == "role provider failed to start: it offers no capability but its plugin declares greeting"
        }
        #expect(fixture.log.all == ["start provider", "drain provider", "stop provider"], "the role that started is stopped again")
    }

    @Test func aRoleWhoseRequiredProviderIsNotRunningIsNotStarted() async throws {
        let fixture = HostFixture()
        let host = fixture.host
        let services = try await host.start(try fixture.roles("roles:\n  plain: {}\n"))
        try await fixture.withRunningGroup(services) { _ in
            let outcome = await host.reload(
                try fixture.roles("roles:\n  plain: {}\n  provider:\n    fail_start: true\n  consumer:\n    require: true\n"),
                shutdownGrace: .seconds(1)
            )
            #expect(outcome.failures.map(\.description) == [
                "role provider failed to start: told to fail",
                "role consumer failed to start: it needs the greeting capability, which no running role offers",
            ])
            #expect(fixture.consumer.latest == nil, "the consumer was not even built")
            #expect(await fixture.state(of: "consumer") == .failed("it needs the greeting capability, which no running role offers"))
        }
    }
}
