//! What the JSON API and the pages share about HTTP requests, so that neither imports the other:
//! extractors and the checks behind them.

pub mod device;
