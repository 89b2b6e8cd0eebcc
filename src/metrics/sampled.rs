//! Gauges whose values live elsewhere (a connection table, a semaphore) and are read at each
//! scrape, registered by name after start-up.

use std::sync::{Arc, Mutex};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::gauge::ConstGauge;

/// Reads a gauge's current value.
pub(super) type Read = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The registered gauges, in registration order.
#[derive(Default)]
pub(super) struct SampledGauges {
    gauges: Mutex<Vec<Sampled>>,
}

struct Sampled {
    name: &'static str,
    help: &'static str,
    read: Read,
}

impl SampledGauges {
    /// Adds a gauge, replacing one of the same name (a server started again in-process).
    pub(super) fn register(&self, name: &'static str, help: &'static str, read: Read) {
        let mut gauges = crate::lock(&self.gauges);
        gauges.retain(|g| g.name != name);
        gauges.push(Sampled { name, help, read });
    }

    /// Removes the gauge `name`.
    pub(super) fn unregister(&self, name: &str) {
        crate::lock(&self.gauges).retain(|g| g.name != name);
    }
}

impl std::fmt::Debug for SampledGauges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = crate::lock(&self.gauges).iter().map(|g| g.name).collect();
        f.debug_struct("SampledGauges")
            .field("names", &names)
            .finish()
    }
}

impl Collector for SampledGauges {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        // Read outside the lock: a reader may take locks of its own.
        let gauges: Vec<(&'static str, &'static str, Read)> = crate::lock(&self.gauges)
            .iter()
            .map(|g| (g.name, g.help, g.read.clone()))
            .collect();
        for (name, help, read) in gauges {
            let gauge = ConstGauge::new(read());
            let metric = encoder.encode_descriptor(name, help, None, gauge.metric_type())?;
            gauge.encode(metric)?;
        }
        Ok(())
    }
}
