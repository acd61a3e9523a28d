/** A protocol front end (S3 over HTTP) turning requests into object-service calls. */
export interface Transport {
  readonly name: string;
  /** Starts serving; resolves with the bound address once listening. */
  listen(host: string, port: number): Promise<{ host: string; port: number }>;
  /** Stops accepting, finishes in-flight requests, then resolves. */
  close(): Promise<void>;
}
