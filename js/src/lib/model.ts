// The small part of the anywidget model/view API the panels use (anywidget >= 0.9).

export type Buffer = DataView | ArrayBuffer | ArrayBufferView;

export interface AnyModel {
  get(name: string): any;
  set(name: string, value: unknown): void;
  save_changes(): void;
  on(event: string, callback: (...args: any[]) => void): void;
  off(event?: string, callback?: (...args: any[]) => void): void;
  send(content: object, callbacks?: unknown, buffers?: ArrayBuffer[]): void;
}

export interface RenderProps {
  model: AnyModel;
  el: HTMLElement;
}

/** A message from Python, as delivered to `model.on("msg:custom", ...)`. */
export type Message = { type?: string; req?: number | string; ok?: boolean; message?: string; [k: string]: any };
