//! Between key names and typed fields: [`set_global`]/[`set_port`] write a parsed value into
//! [`Config`]/[`PortConfig`], [`get_global`]/[`get_port`] read it back in configuration-file
//! spelling (for `--dump`, and to compare a port's clock-wide key with the global value).
//! Only [`Status::Implemented`](super::keys::Status) and `ClockWide` keys appear here; a test
//! checks that every such key round-trips.

use std::path::PathBuf;

use crate::clock::ClockSource;
use crate::datasets::{DatasetComparison, DelayMechanism, FaultResetInterval, PortConfig};
use crate::profile::Transport;
use crate::security::{parse_acceptable_masters, AllowUnauth};
use crate::servo::{DelayFilterKind, ServoKind};
use xptp_datapath::fastpath::RateLimits;

use super::value::{hex_colon, Value};
use super::{ClockType, Config, LadderKind, TimeStampingMode};

/// Writes a global-scope key. Returns false if the key is not a global implemented key.
pub fn set_global(c: &mut Config, key: &str, v: &Value) -> bool {
    let i = v.as_i64();
    let b = v.as_bool();
    let d = v.as_f64();
    let s = || match v {
        Value::Str(s) => s.clone(),
        other => other.to_string(),
    };
    let e = match v {
        Value::Enum(e) => *e,
        _ => "",
    };
    match key {
        "clockIdentity" => {
            if let Value::ClockId(id) = v {
                c.clock.clock_identity = *id;
            }
        }
        "twoStepFlag" => c.clock.two_step_flag = b,
        "slaveOnly" => c.clock.slave_only = b,
        "gmCapable" => c.clock.gm_capable = b,
        "priority1" => c.clock.priority1 = i as u8,
        "priority2" => c.clock.priority2 = i as u8,
        "domainNumber" => c.clock.domain_number = i as u8,
        "clockClass" => c.clock.clock_quality.clock_class = i as u8,
        "clockAccuracy" => c.clock.clock_quality.clock_accuracy = i as u8,
        "offsetScaledLogVariance" => c.clock.clock_quality.offset_scaled_log_variance = i as u16,
        "dataset_comparison" => {
            c.clock.dataset_comparison = DatasetComparison::from_linuxptp(e).unwrap_or_default()
        }
        "G.8275.defaultDS.localPriority" => c.clock.local_priority = i as u8,
        "maxStepsRemoved" => c.clock.max_steps_removed = i as u16,
        "timeSource" => c.clock.time_source = i as u8,
        "utc_offset" => c.clock.utc_offset = i as i16,
        "free_running" => c.free_running = b,
        "clock_type" => c.clock_type = ClockType::from_linuxptp(e).unwrap_or_default(),
        "time_stamping" => c.time_stamping = TimeStampingMode::from_linuxptp(e).unwrap_or_default(),
        "clock_source" => {
            c.clock_source = ClockSource::ALL
                .into_iter()
                .find(|s| s.as_str() == e)
                .unwrap_or_default()
        }
        "clock_servo" => c.servo.clock_servo = e.parse().unwrap_or(ServoKind::Pi),
        "pi_proportional_const" => c.servo.pi_proportional_const = d,
        "pi_integral_const" => c.servo.pi_integral_const = d,
        "pi_proportional_scale" => c.servo.pi_proportional_scale = d,
        "pi_proportional_exponent" => c.servo.pi_proportional_exponent = d,
        "pi_proportional_norm_max" => c.servo.pi_proportional_norm_max = d,
        "pi_integral_scale" => c.servo.pi_integral_scale = d,
        "pi_integral_exponent" => c.servo.pi_integral_exponent = d,
        "pi_integral_norm_max" => c.servo.pi_integral_norm_max = d,
        "step_threshold" => c.servo.step_threshold = d,
        "first_step_threshold" => c.servo.first_step_threshold = d,
        "max_frequency" => c.servo.max_frequency = d,
        "sanity_freq_limit" => c.servo.sanity_freq_limit = d,
        "kalman_measurement_noise" => c.servo.kalman_measurement_noise = d,
        "kalman_frequency_wander" => c.servo.kalman_frequency_wander = d,
        "kalman_phase_wander" => c.servo.kalman_phase_wander = d,
        "kalman_outlier_gate" => c.servo.kalman_outlier_gate = d,
        "kalman_time_constant" => c.servo.kalman_time_constant = d,
        "delay_filter" => c.servo.delay_filter = e.parse().unwrap_or_default(),
        "delay_filter_length" => c.servo.delay_filter_length = i as usize,
        "uds_address" => c.uds_address = PathBuf::from(s()),
        "uds_ro_address" => c.uds_ro_address = PathBuf::from(s()),
        "network_management" => c.network_management.enabled = b,
        "tx_timestamp_timeout" => c.tx_timestamp_timeout_ms = i as u32,
        "tc_spanning_tree" => c.tc_spanning_tree = b,
        "summary_interval" => c.log.summary_interval = i as i32,
        "logging_level" => c.log.logging_level = i as u8,
        "verbose" => c.log.verbose = b,
        "use_syslog" => c.log.use_syslog = b,
        "message_tag" => c.log.message_tag = s(),
        "productDescription" => c.description.product_description = s(),
        "revisionData" => c.description.revision_data = s(),
        "userDescription" => c.description.user_description = s(),
        "manufacturerIdentity" => {
            if let Value::Oui(o) = v {
                c.description.manufacturer_identity = *o;
            }
        }
        "dscp_event" => c.dscp_event = i as u8,
        "dscp_general" => c.dscp_general = i as u8,
        "sa_file" => c.sa_file = Some(PathBuf::from(s())).filter(|p| !p.as_os_str().is_empty()),
        "time_jump_threshold" => c.alarms.time_jump_threshold_ns = i as u64,
        "holdover_budget" => c.holdover.budget_s = i as u32,
        "holdover_free_run" => c.holdover.free_run_s = i as u32,
        "holdover_averaging" => c.holdover.averaging = i as usize,
        "holdover_clock_class_ladder" => {
            c.holdover.ladder = LadderKind::from_key(e).unwrap_or_default()
        }
        "holdover_locked_clock_class" => c.holdover.locked_class = i as u8,
        "phc2sys" => c.phc2sys.enabled = b,
        "phc2sys_target" => c.phc2sys.target = s(),
        "phc2sys_offset" => c.phc2sys.offset_text = s(),
        "phc2sys_rate" => c.phc2sys.rate_hz = d,
        "phc2sys_readings" => c.phc2sys.readings = i as u32,
        "phc2sys_step_threshold" => c.phc2sys.step_threshold = d,
        "phc2sys_first_step_threshold" => c.phc2sys.first_step_threshold = d,
        "phc2sys_servo" => c.phc2sys.servo = e.parse().unwrap_or(ServoKind::Pi),
        "phc2sys_wait_sync" => c.phc2sys.wait_sync = b,
        "phc_set_from_system" => c.phc_set_from_system = b,
        k => match rate_limit_field(&mut c.rate_limits, k) {
            Some(f) => *f = u32::try_from(i).unwrap_or(u32::MAX),
            None => return false,
        },
    }
    true
}

/// The [`RateLimits`] field behind an xptp rate-limit key (`delay_req_rate_limit`, ...).
fn rate_limit_field<'a>(l: &'a mut RateLimits, key: &str) -> Option<&'a mut u32> {
    let (class, rest) = if let Some(r) = key.strip_prefix("delay_req_") {
        (&mut l.delay_req, r)
    } else if let Some(r) = key.strip_prefix("pdelay_req_") {
        (&mut l.pdelay_req, r)
    } else if let Some(r) = key.strip_prefix("management_") {
        (&mut l.management, r)
    } else {
        return None;
    };
    match rest {
        "rate_limit" => Some(&mut class.port.rate),
        "burst" => Some(&mut class.port.burst),
        "per_requester_rate_limit" => Some(&mut class.requester.rate),
        "per_requester_burst" => Some(&mut class.requester.burst),
        _ => None,
    }
}

/// Reads a global-scope key back in file spelling.
pub fn get_global(c: &Config, key: &str) -> Option<String> {
    let b = |x: bool| u8::from(x).to_string();
    let q = &c.clock.clock_quality;
    Some(match key {
        "clockIdentity" => Value::ClockId(c.clock.clock_identity).to_string(),
        "twoStepFlag" => b(c.clock.two_step_flag),
        "slaveOnly" => b(c.clock.slave_only),
        "gmCapable" => b(c.clock.gm_capable),
        "priority1" => c.clock.priority1.to_string(),
        "priority2" => c.clock.priority2.to_string(),
        "domainNumber" => c.clock.domain_number.to_string(),
        "clockClass" => q.clock_class.to_string(),
        "clockAccuracy" => format!("0x{:02X}", q.clock_accuracy),
        "offsetScaledLogVariance" => format!("0x{:04X}", q.offset_scaled_log_variance),
        "dataset_comparison" => c.clock.dataset_comparison.as_linuxptp().to_owned(),
        "G.8275.defaultDS.localPriority" => c.clock.local_priority.to_string(),
        "maxStepsRemoved" => c.clock.max_steps_removed.to_string(),
        "timeSource" => format!("0x{:02X}", c.clock.time_source),
        "utc_offset" => c.clock.utc_offset.to_string(),
        "free_running" => b(c.free_running),
        "clock_type" => c.clock_type.as_linuxptp().to_owned(),
        "time_stamping" => c.time_stamping.as_linuxptp().to_owned(),
        "clock_source" => c.clock_source.as_str().to_owned(),
        "clock_servo" => c.servo.clock_servo.as_str().to_owned(),
        "pi_proportional_const" => c.servo.pi_proportional_const.to_string(),
        "pi_integral_const" => c.servo.pi_integral_const.to_string(),
        "pi_proportional_scale" => c.servo.pi_proportional_scale.to_string(),
        "pi_proportional_exponent" => c.servo.pi_proportional_exponent.to_string(),
        "pi_proportional_norm_max" => c.servo.pi_proportional_norm_max.to_string(),
        "pi_integral_scale" => c.servo.pi_integral_scale.to_string(),
        "pi_integral_exponent" => c.servo.pi_integral_exponent.to_string(),
        "pi_integral_norm_max" => c.servo.pi_integral_norm_max.to_string(),
        "step_threshold" => c.servo.step_threshold.to_string(),
        "first_step_threshold" => c.servo.first_step_threshold.to_string(),
        "max_frequency" => c.servo.max_frequency.to_string(),
        "sanity_freq_limit" => c.servo.sanity_freq_limit.to_string(),
        "kalman_measurement_noise" => c.servo.kalman_measurement_noise.to_string(),
        "kalman_frequency_wander" => c.servo.kalman_frequency_wander.to_string(),
        "kalman_phase_wander" => c.servo.kalman_phase_wander.to_string(),
        "kalman_outlier_gate" => c.servo.kalman_outlier_gate.to_string(),
        "kalman_time_constant" => c.servo.kalman_time_constant.to_string(),
        "delay_filter" => match c.servo.delay_filter {
            DelayFilterKind::MovingMedian => "moving_median",
            DelayFilterKind::MovingAverage => "moving_average",
        }
        .to_owned(),
        "delay_filter_length" => c.servo.delay_filter_length.to_string(),
        "uds_address" => c.uds_address.display().to_string(),
        "uds_ro_address" => c.uds_ro_address.display().to_string(),
        "network_management" => b(c.network_management.enabled),
        "tx_timestamp_timeout" => c.tx_timestamp_timeout_ms.to_string(),
        "tc_spanning_tree" => b(c.tc_spanning_tree),
        "summary_interval" => c.log.summary_interval.to_string(),
        "logging_level" => c.log.logging_level.to_string(),
        "verbose" => b(c.log.verbose),
        "use_syslog" => b(c.log.use_syslog),
        "message_tag" => c.log.message_tag.clone(),
        "productDescription" => c.description.product_description.clone(),
        "revisionData" => c.description.revision_data.clone(),
        "userDescription" => c.description.user_description.clone(),
        "manufacturerIdentity" => hex_colon(&c.description.manufacturer_identity),
        "dscp_event" => c.dscp_event.to_string(),
        "phc2sys" => b(c.phc2sys.enabled),
        "phc2sys_target" => c.phc2sys.target.clone(),
        "phc2sys_offset" => c.phc2sys.offset_text.clone(),
        "phc2sys_rate" => c.phc2sys.rate_hz.to_string(),
        "phc2sys_readings" => c.phc2sys.readings.to_string(),
        "phc2sys_step_threshold" => c.phc2sys.step_threshold.to_string(),
        "phc2sys_first_step_threshold" => c.phc2sys.first_step_threshold.to_string(),
        "phc2sys_servo" => c.phc2sys.servo.as_str().to_owned(),
        "phc2sys_wait_sync" => b(c.phc2sys.wait_sync),
        "phc_set_from_system" => b(c.phc_set_from_system),
        "dscp_general" => c.dscp_general.to_string(),
        "sa_file" => c
            .sa_file
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        "time_jump_threshold" => c.alarms.time_jump_threshold_ns.to_string(),
        "holdover_budget" => c.holdover.budget_s.to_string(),
        "holdover_free_run" => c.holdover.free_run_s.to_string(),
        "holdover_averaging" => c.holdover.averaging.to_string(),
        "holdover_clock_class_ladder" => c.holdover.ladder.as_key().to_string(),
        "holdover_locked_clock_class" => c.holdover.locked_class.to_string(),
        k if k.contains("rate_limit") || k.ends_with("_burst") => {
            let mut l = c.rate_limits;
            return rate_limit_field(&mut l, k).map(|f| f.to_string());
        }
        _ => return None,
    })
}

/// Writes a port-scope key. Returns false if the key is not a port implemented key.
pub fn set_port(p: &mut PortConfig, key: &str, v: &Value) -> bool {
    let i = v.as_i64();
    let b = v.as_bool();
    let e = match v {
        Value::Enum(e) => *e,
        _ => "",
    };
    match key {
        "logAnnounceInterval" => p.log_announce_interval = i as i8,
        "logSyncInterval" => p.log_sync_interval = i as i8,
        "logMinDelayReqInterval" => p.log_min_delay_req_interval = i as i8,
        "logMinPdelayReqInterval" => p.log_min_pdelay_req_interval = i as i8,
        "announceReceiptTimeout" => p.announce_receipt_timeout = i as u8,
        "syncReceiptTimeout" => p.sync_receipt_timeout = i as u8,
        "delay_mechanism" => {
            p.delay_mechanism = DelayMechanism::from_linuxptp(e).unwrap_or_default()
        }
        "delayAsymmetry" => p.delay_asymmetry_ns = i,
        "masterOnly" => p.master_only = b,
        "G.8275.portDS.localPriority" => p.local_priority = i as u8,
        "fault_reset_interval" => {
            p.fault_reset_interval = match v {
                Value::Asap => FaultResetInterval::Asap,
                _ => FaultResetInterval::Log2Seconds(i as i8),
            }
        }
        "neighborPropDelayThresh" => p.neighbor_prop_delay_thresh_ns = i as u32,
        "inhibit_announce" => p.inhibit_announce = b,
        "ignore_source_id" => p.ignore_source_id = b,
        "network_transport" => {
            p.network_transport = Transport::from_linuxptp(e).unwrap_or(Transport::UdpIpv4)
        }
        "ptp_dst_mac" | "p2p_dst_mac" => {
            if let Value::Mac(m) = v {
                if key == "ptp_dst_mac" {
                    p.ptp_dst_mac = *m;
                } else {
                    p.p2p_dst_mac = *m;
                }
            }
        }
        "udp_ttl" => p.udp_ttl = i as u8,
        "udp6_scope" => p.udp6_scope = i as u8,
        "egressLatency" => p.egress_latency_ns = i as i32,
        "ingressLatency" => p.ingress_latency_ns = i as i32,
        "spp" => p.security.spp = u8::try_from(i).ok(),
        "active_key_id" => p.security.active_key_id = i as u32,
        "allow_unauth" => p.security.allow_unauth = AllowUnauth::from_level(i),
        "grandmaster_block" => p.security.grandmaster_block = b,
        "acceptable_master_table" => {
            // Validated when the line was read (Builder::setting).
            if let Value::Str(t) = v {
                p.security.acceptable_masters = parse_acceptable_masters(t).unwrap_or_default();
            }
        }
        _ => return false,
    }
    true
}

/// Reads a port-scope key back in file spelling.
pub fn get_port(p: &PortConfig, key: &str) -> Option<String> {
    let b = |x: bool| u8::from(x).to_string();
    Some(match key {
        "logAnnounceInterval" => p.log_announce_interval.to_string(),
        "logSyncInterval" => p.log_sync_interval.to_string(),
        "logMinDelayReqInterval" => p.log_min_delay_req_interval.to_string(),
        "logMinPdelayReqInterval" => p.log_min_pdelay_req_interval.to_string(),
        "announceReceiptTimeout" => p.announce_receipt_timeout.to_string(),
        "syncReceiptTimeout" => p.sync_receipt_timeout.to_string(),
        "delay_mechanism" => p.delay_mechanism.as_linuxptp().to_owned(),
        "delayAsymmetry" => p.delay_asymmetry_ns.to_string(),
        "masterOnly" => b(p.master_only),
        "G.8275.portDS.localPriority" => p.local_priority.to_string(),
        "fault_reset_interval" => match p.fault_reset_interval {
            FaultResetInterval::Asap => "ASAP".to_owned(),
            FaultResetInterval::Log2Seconds(n) => n.to_string(),
        },
        "neighborPropDelayThresh" => p.neighbor_prop_delay_thresh_ns.to_string(),
        "inhibit_announce" => b(p.inhibit_announce),
        "ignore_source_id" => b(p.ignore_source_id),
        "network_transport" => p.network_transport.as_linuxptp().to_owned(),
        "ptp_dst_mac" => hex_colon(&p.ptp_dst_mac),
        "p2p_dst_mac" => hex_colon(&p.p2p_dst_mac),
        "udp_ttl" => p.udp_ttl.to_string(),
        "udp6_scope" => format!("0x{:02X}", p.udp6_scope),
        "egressLatency" => p.egress_latency_ns.to_string(),
        "ingressLatency" => p.ingress_latency_ns.to_string(),
        "spp" => p.security.spp.map_or(-1, i16::from).to_string(),
        "active_key_id" => p.security.active_key_id.to_string(),
        "allow_unauth" => p.security.allow_unauth.level().to_string(),
        "grandmaster_block" => b(p.security.grandmaster_block),
        "acceptable_master_table" => p
            .security
            .acceptable_masters
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" "),
        _ => return None,
    })
}
