//! The authentication state of a client, as the server helper and the client helper track it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::StateError;

/// Where a client stands in the authenticate flow.
///
/// A socket starts `Unauthorized`; emitting `authenticate` moves it to `Authenticating`
/// while the server's check runs; success makes it `Authenticated`, failure puts it back.
///
/// ```
/// use sio_types::ClientState;
///
/// assert_eq!(ClientState::Authenticated.as_str(), "authenticated");
/// assert_eq!("authenticating".parse::<ClientState>().unwrap(), ClientState::Authenticating);
/// assert!(ClientState::is_valid("unauthorized"));
/// assert!(!ClientState::is_valid("invalid"));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientState {
    /// Connected but not (yet) authenticated: only `authenticate` is listened to.
    #[default]
    Unauthorized,
    /// The `authenticate` check is running.
    Authenticating,
    /// Authenticated: default rooms joined, pings flowing, app events delivered.
    Authenticated,
}

impl ClientState {
    /// Every state, in the order a client goes through them.
    pub const ALL: [ClientState; 3] = [
        ClientState::Unauthorized,
        ClientState::Authenticating,
        ClientState::Authenticated,
    ];

    /// The wire and log form: `unauthorized`, `authenticating` or `authenticated`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ClientState::Unauthorized => "unauthorized",
            ClientState::Authenticating => "authenticating",
            ClientState::Authenticated => "authenticated",
        }
    }

    /// Whether `input` names a state (the seed's `SocketIOClientStates.isValid`).
    pub fn is_valid(input: &str) -> bool {
        input.parse::<ClientState>().is_ok()
    }
}

impl FromStr for ClientState {
    type Err = StateError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| StateError(s.to_owned()))
    }
}

impl fmt::Display for ClientState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_forms_round_trip() {
        for state in ClientState::ALL {
            assert_eq!(state.as_str().parse::<ClientState>().unwrap(), state);
            assert_eq!(state.to_string(), state.as_str());
            let json = serde_json::to_string(&state).unwrap();
            assert_eq!(json, format!("\"{}\"", state.as_str()));
        }
    }

    #[test]
    fn unknown_states_are_refused() {
        for bad in ["", "Authenticated", "invalid", "authenticated "] {
            assert!(!ClientState::is_valid(bad), "{bad:?}");
            assert_eq!(bad.parse::<ClientState>(), Err(StateError(bad.to_owned())));
        }
        assert_eq!(ClientState::default(), ClientState::Unauthorized);
    }
}
