//! Recordings and what is made from them: [`record`] (every event of a session as JSON
//! lines), [`replay`] (a recording fed back into the dashboard's `App`), [`capture`] (what a
//! headless command keeps besides its summary), [`trace`] (runs for Perfetto) and [`shot`]
//! (screenshots without a terminal).

pub mod capture;
pub mod record;
pub mod replay;
pub mod shot;
pub mod trace;
