export * from '../../lib/rehearsal/local-workflow';
