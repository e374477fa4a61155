export * from '../../lib/local-postgres/certificates';
