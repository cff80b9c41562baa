//! The engine handle a job runs with: its GIL, its thread pool, its process pool and its
//! sink. [`super::run`] runs every plain workload through [`Engine::run_model`]; workloads
//! that stage a lesson (scenes, the pipeline) get the same handle in
//! [`crate::workload::Workload::orchestrate`] and use these pools instead of building their own.

use super::interpreters::InterpreterPool;
use super::processes::ProcessPool;
use super::threads::ThreadPool;
use super::{CancelToken, Gil, Job, Sink, TaskResult, sequential};
use crate::core::Model;

/// What a job may use to run its tasks.
#[derive(Clone, Copy)]
pub struct Engine<'a, 'j> {
    job: &'a Job<'j>,
}

impl<'a, 'j> Engine<'a, 'j> {
    pub fn new(job: &'a Job<'j>) -> Self {
        Engine { job }
    }

    /// The job: its workload, tasks, width, GIL settings, sink and cancel token.
    pub fn job(&self) -> &'a Job<'j> {
        self.job
    }

    pub fn sink(&self) -> &'j Sink {
        self.job.sink
    }

    pub fn cancel(&self) -> &'j CancelToken {
        self.job.cancel
    }

    /// A fresh interpreter lock with the job's settings (one per simulated interpreter).
    pub fn gil(&self) -> Gil {
        Gil::new(self.job.gil)
    }

    /// The thread pool, as wide as the job (change with `.workers(n)`).
    pub fn threads(&self) -> ThreadPool<'a, 'j> {
        ThreadPool::new(self.job)
    }

    /// The process pool, as wide as the job (options: workers, recycling, hello timeout).
    pub fn processes(&self) -> ProcessPool<'a, 'j> {
        ProcessPool::new(self.job)
    }

    /// The interpreter pool (one simulated GIL per worker, arguments and results copied),
    /// as wide as the job.
    pub fn interpreters(&self) -> InterpreterPool<'a, 'j> {
        InterpreterPool::new(self.job)
    }

    /// Run the job's tasks under `model`'s pool with default options; results in task order.
    pub fn run_model(&self, model: Model) -> Vec<TaskResult> {
        match model {
            Model::Sequential => sequential::run(self.job, &self.gil()),
            Model::Threads => self.threads().run(&self.gil()).0,
            Model::Processes => self.processes().run().0,
            Model::Async => {
                let results = std::sync::Mutex::new(vec![None; self.job.tasks.len()]);
                super::asyncio::run_into(self.job, Default::default(), &|i, r| {
                    results.lock().unwrap_or_else(|e| e.into_inner())[i] = r
                });
                results.into_inner().unwrap_or_else(|e| e.into_inner())
            }
            Model::Interpreters => {
                let results = std::sync::Mutex::new(vec![None; self.job.tasks.len()]);
                self.interpreters()
                    .run_into(&|i, r| results.lock().unwrap_or_else(|e| e.into_inner())[i] = r);
                results.into_inner().unwrap_or_else(|e| e.into_inner())
            }
        }
    }

    /// [`Engine::run_model`], handing each result to `out` as it finishes, so nothing
    /// per task is kept (the process pool still gathers its results first).
    pub fn run_model_into(&self, model: Model, out: &(dyn Fn(usize, TaskResult) + Sync)) {
        match model {
            Model::Sequential => sequential::run_into(self.job, &self.gil(), &mut |i, r| out(i, r)),
            Model::Threads => {
                self.threads().run_into(&self.gil(), out);
            }
            Model::Processes => {
                self.processes().run_into(out);
            }
            Model::Async => {
                super::asyncio::run_into(self.job, Default::default(), out);
            }
            Model::Interpreters => {
                self.interpreters().run_into(out);
            }
        }
    }
}
