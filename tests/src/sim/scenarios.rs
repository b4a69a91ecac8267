//! Building blocks for scenarios that run the real protocol core ([`PtpNode`](super::ptp_node)):
//! the instance configurations a test network is made of (grandmaster-capable clock,
//! slave-only clock, boundary clock), port configurations per delay mechanism, and the
//! hardware presets (hardware-like and software-like timestamping).
//!
//! Nothing here asserts; the tests in `tests/tests/sim_*.rs` and the servo table use these so
//! that every scenario states only what differs.

use xptp_control::datasets::{ClockConfig, DelayMechanism, PortConfig};
use xptp_control::ptp::InstanceConfig;
use xptp_control::servo::{ServoConfig, ServoKind, TimeStamping};
use xptp_datapath::wire::ClockQuality;

use super::engine::{SimError, Simulator};
use super::link::LinkConfig;
use super::node::NodeConfig;
use super::oscillator::OscillatorConfig;
use super::ptp_node::{add_ptp_node, clock_identity};
use super::report::{Reference, ScenarioRun, ServoTable, ServoTableSpec};
use super::rng::Noise;
use super::tc::TransparentClock;

/// defaultDS.clockQuality of a grandmaster locked to GNSS (clockClass 6, accuracy within
/// 100 ns (0x21), offsetScaledLogVariance 0x4E5D as linuxptp examples use).
pub const GNSS_QUALITY: ClockQuality = ClockQuality {
    clock_class: 6,
    clock_accuracy: 0x21,
    offset_scaled_log_variance: 0x4E5D,
};

/// A port with linuxptp's defaults and `mechanism`.
pub fn port(mechanism: DelayMechanism) -> PortConfig {
    PortConfig {
        delay_mechanism: mechanism,
        ..PortConfig::default()
    }
}

/// An instance with `clock` and the servo `servo`.
pub fn instance(clock: ClockConfig, servo: ServoConfig) -> InstanceConfig {
    let mut c = InstanceConfig::new(clock);
    c.servo = servo;
    c
}

/// A grandmaster-capable clock with the given priority1 and quality (everything else
/// linuxptp's defaults).
pub fn gm_clock(priority1: u8, quality: ClockQuality) -> ClockConfig {
    ClockConfig {
        priority1,
        clock_quality: quality,
        ..ClockConfig::default()
    }
}

/// A slave-only ordinary clock (linuxptp `slaveOnly 1`).
pub fn slave_clock() -> ClockConfig {
    ClockConfig {
        slave_only: true,
        ..ClockConfig::default()
    }
}

/// The servo configuration for `kind` with linuxptp's defaults for the timestamping kind.
pub fn servo(kind: ServoKind, stamping: TimeStamping) -> ServoConfig {
    ServoConfig {
        clock_servo: kind,
        time_stamping: stamping,
        ..ServoConfig::default()
    }
}

/// A node with hardware-like timestamping (8 ns Gaussian), `osc` as oscillator and 1 µs of
/// fixed transmit latency.
pub fn hw_node(name: impl Into<String>, osc: OscillatorConfig) -> NodeConfig {
    NodeConfig::new(name, 1)
        .oscillator(osc)
        .timestamp_noise(Noise::hardware())
        .tx_latency(1_000, Noise::None)
}

// ---- the servo table --------------------------------------------------------------------------

/// One scenario (column) of the servo table.
#[derive(Clone, Debug)]
pub struct ServoScenario {
    /// The name shown in the table.
    pub name: &'static str,
    /// Timestamp noise of the grandmaster and the slave.
    pub end_noise: Noise,
    /// Timestamp noise of the transparent clocks.
    pub tc_noise: Noise,
    /// Number of E2E transparent clocks between them.
    pub tcs: usize,
    /// linuxptp `time_stamping` of both ends (selects PI's default constants).
    pub stamping: TimeStamping,
    /// Convergence = |TE| below this for good (ns).
    pub converge_limit_ns: i64,
}

/// The README table's scenarios. In the 15-TC software scenario only the ends timestamp in
/// software: a transparent clock is an appliance that timestamps in hardware, and 15 TCs with
/// software timestamps (30 more 1 µs + outlier stamps per Sync) describe no real network.
pub fn servo_table_scenarios() -> Vec<ServoScenario> {
    let hw = Noise::hardware();
    let sw = Noise::software();
    vec![
        ServoScenario {
            name: "hardware timestamps (8 ns), one hop",
            end_noise: hw,
            tc_noise: hw,
            tcs: 0,
            stamping: TimeStamping::Hardware,
            converge_limit_ns: 100,
        },
        ServoScenario {
            name: "hardware timestamps (8 ns), 15 transparent clocks",
            end_noise: hw,
            tc_noise: hw,
            tcs: 15,
            stamping: TimeStamping::Hardware,
            converge_limit_ns: 100,
        },
        ServoScenario {
            name: "software timestamps (1 µs + 1 % 50 µs outliers), one hop",
            end_noise: sw,
            tc_noise: hw,
            tcs: 0,
            stamping: TimeStamping::Software,
            converge_limit_ns: 10_000,
        },
        ServoScenario {
            name: "software timestamps at GM and slave, 15 transparent clocks timestamping in hardware",
            end_noise: sw,
            tc_noise: hw,
            tcs: 15,
            stamping: TimeStamping::Software,
            converge_limit_ns: 10_000,
        },
    ]
}

/// Grandmaster (PtpInstance, clockClass 6) → `scenario.tcs` E2E transparent clocks (10 ppm
/// unsyntonized oscillators, 2 µs + exponential 1 µs residence) → slave-only PtpInstance with
/// `kind` as its servo, starting 1 ms off at +50 ppm with 0.02 ppb/√s wander. 5 µs links,
/// linuxptp's default intervals (1 Sync/s, 1 Delay_Req/s, Announce every 2 s). Time error
/// is sampled every second against the grandmaster.
pub fn servo_scenario(scenario: &ServoScenario, kind: ServoKind, seed: u64) -> ScenarioRun {
    let mut sim = Simulator::new(seed);
    let servo_cfg = servo(kind, scenario.stamping);
    let gm = add_ptp_node(
        &mut sim,
        NodeConfig::new("gm", 1)
            .oscillator(OscillatorConfig::with_error(0, 2_000.0).wander(0.02))
            .timestamp_noise(scenario.end_noise)
            .tx_latency(1_000, Noise::None),
        instance(gm_clock(128, GNSS_QUALITY), servo_cfg),
        vec![port(DelayMechanism::E2E)],
        clock_identity(1),
    );
    let mut prev = (gm, 1);
    for i in 0..scenario.tcs {
        let tc = sim.add_node(
            NodeConfig::new(format!("tc{}", i + 1), 2)
                .oscillator(OscillatorConfig::with_error(0, 10_000.0))
                .timestamp_noise(scenario.tc_noise)
                .tx_latency(2_000, Noise::Exponential { mean_ns: 1_000.0 }),
            TransparentClock::e2e_two_port(),
        );
        sim.connect(prev, (tc, 1), LinkConfig::fixed(5_000));
        prev = (tc, 2);
    }
    let slave = add_ptp_node(
        &mut sim,
        NodeConfig::new("slave", 1)
            .oscillator(OscillatorConfig::with_error(1_000_000, 50_000.0).wander(0.02))
            .timestamp_noise(scenario.end_noise)
            .tx_latency(1_000, Noise::None),
        instance(slave_clock(), servo_cfg),
        vec![port(DelayMechanism::E2E)],
        clock_identity(2),
    );
    sim.connect(prev, (slave, 1), LinkConfig::fixed(5_000));
    sim.sample_time_error(1_000_000_000, Reference::Node(gm));
    ScenarioRun {
        sim,
        observed: slave,
    }
}

/// Runs the servo table over [`servo_table_scenarios`] with `spec`.
pub fn run_servo_table(spec: ServoTableSpec) -> Result<ServoTable, SimError> {
    let scenarios = servo_table_scenarios();
    let cols: Vec<(&str, i64)> = scenarios
        .iter()
        .map(|s| (s.name, s.converge_limit_ns))
        .collect();
    ServoTable::run_with_limits(spec, &cols, |name, kind, seed| {
        let sc = scenarios
            .iter()
            .find(|s| s.name == name)
            .unwrap_or(&scenarios[0]);
        servo_scenario(sc, kind, seed)
    })
}
