pub mod feedback;
pub mod layout;
