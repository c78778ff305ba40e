//! The authorization endpoint (OIDC Core §3.1.2): the request's ordered checks, the decision
//! of what comes next, and the flow across login and consent that ends with a code.

pub mod decide;
pub mod flow;
pub mod par;
pub mod passkey;
pub mod request;
pub mod request_object;
pub mod second_factor;

pub use decide::{Next, SessionFacts, decide};
pub use flow::{AuthResponse, Outcome};
pub use request::{AuthorizeRequest, Prompt, RedirectError, ResponseMode, ReturnTo};
