import { S3CallError } from './api';

/** How a failed call reads on the page: the S3 code and the server's message. */
export const describe = (err: unknown) => (err instanceof S3CallError ? `${err.code}: ${err.message}` : (err as Error)?.message ?? String(err));

export function ErrorLine(props: { error: unknown }) {
  if (props.error === undefined || props.error === null || props.error === '') return null;
  return <p class="error" role="alert">{describe(props.error)}</p>;
}
