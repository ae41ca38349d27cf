//! `POST /v1/token`: the CIBA grant a client redeems an approval with (long-poll, every
//! refusal, shutdown), and the refresh-token grant.

mod ciba;
mod refresh;
