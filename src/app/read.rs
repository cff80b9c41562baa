//! Read-only access to [`App`]'s state, for drawing, the event loop and the commands: the
//! fields are private, so only [`App::update`] (and the key handlers it calls) change them.

use std::collections::VecDeque;
use std::time::Duration;

use super::lesson_mode::LessonState;
use super::{App, CpuState, ModelRun, RunId, Settings, ThemeChoice, kernel::KernelView};
use crate::exec::{Model, RunSpec};

impl App {
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The theme chosen (drawing resolves it into styles).
    pub fn theme(&self) -> ThemeChoice {
        self.theme
    }

    /// The selected model panel (index into [`Model::ALL`]).
    pub fn selected(&self) -> usize {
        self.selected
    }

    /// One panel per model, in [`Model::ALL`]'s order.
    pub fn panels(&self) -> &[ModelRun; Model::ALL.len()] {
        &self.panels
    }

    pub fn cpu(&self) -> &CpuState {
        &self.cpu
    }

    /// Is the help overlay shown?
    pub fn help(&self) -> bool {
        self.help
    }

    /// Presenter mode (`--present`, `P`): fewer, larger things for a projector.
    pub fn present(&self) -> bool {
        self.present
    }

    /// The terminal's size as last told (for mouse hit-testing).
    pub fn size(&self) -> (u16, u16) {
        self.size
    }

    /// The loop's clock at the last tick.
    pub fn now(&self) -> Duration {
        self.now
    }

    /// The run in progress: its id and panel.
    pub fn active(&self) -> Option<(RunId, usize)> {
        self.active
    }

    /// Runs waiting their turn (`a`).
    pub fn queue(&self) -> &VecDeque<RunSpec> {
        &self.queue
    }

    /// Is a classify sample running?
    pub fn classifying(&self) -> bool {
        self.classifying
    }

    /// The panel whose run finished last.
    pub fn last_finished(&self) -> Option<usize> {
        self.last_finished
    }

    /// The status line's warning (a refusal, an error), if any.
    pub fn notice(&self) -> Option<&str> {
        self.notice.as_deref()
    }

    /// The status line's success or progress message, if any.
    pub fn info(&self) -> Option<&str> {
        self.info.as_deref()
    }

    /// Lesson mode's lesson and step, when a lesson is open.
    pub fn lesson(&self) -> Option<&LessonState> {
        self.lesson.as_ref()
    }

    /// Is a recording being played back?
    pub fn replaying(&self) -> bool {
        self.replaying
    }

    /// The last `i` (classify) verdict, until a run.
    pub fn classified(&self) -> Option<&str> {
        self.classified.as_deref()
    }

    /// The kernel's view of the run's threads (`k`).
    pub fn kernel(&self) -> &KernelView {
        &self.kernel
    }

    /// The stepping screen's machine, when it is open (`t` on the race scene).
    pub fn stepper(&self) -> Option<&crate::workload::scenes::stepper::Machine> {
        self.stepper.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{app, key};
    use super::super::{App, Msg};

    #[test]
    fn the_getters_show_what_update_set() {
        let mut a: App = app("primes", 2, true);
        assert!(!a.present() && !a.help() && a.selected() == 0);
        a.update(Msg::Present(true));
        a.update(Msg::Help(true));
        a.update(Msg::Select(2));
        a.update(Msg::Resize(100, 30));
        assert!(a.present() && a.help());
        assert_eq!((a.selected(), a.size()), (2, (100, 30)));
        assert_eq!(a.settings().workers, 2);
        assert!(a.notice().is_none() && a.active().is_none());
        // A key closes the help, as it always did.
        a.update(key('x'));
        assert!(!a.help());
        // A panel past the last is the last.
        a.update(Msg::Select(99));
        assert_eq!(a.selected(), a.panels().len() - 1);
    }
}
