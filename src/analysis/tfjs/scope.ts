/** The TensorFlow.js interpreter's variables: an environment per scope, each value with the assumptions it rests on. */
import { type Value } from './values';

export interface Entry {
  value: Value;
  /** assumptions the value rests on (parameter defaults) */
  notes: string[];
}

export class Env {
  readonly vars = new Map<string, Entry>();
  constructor(readonly parent: Env | undefined) {}

  find(name: string): Env | undefined {
    if (this.vars.has(name)) return this;
    return this.parent?.find(name);
  }
}
