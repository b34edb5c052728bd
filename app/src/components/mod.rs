pub mod explain;
pub mod feedback;
pub mod layout;
pub mod spend;
