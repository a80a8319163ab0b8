import React, { useState } from 'react';

interface Props {
  label: string;
  onSave: (v: string) => void;
}

export function SaveButton({ label, onSave }: Props) {
  const [value, setValue] = useState('');
  return (
    <button disabled={!value} onClick={() => onSave(value)}>
      {label}
    </button>
  );
}

export const Greeting = ({ name }: { name: string }) => {
  return <div dangerouslySetInnerHTML={{ __html: name }} />;
};

export class Panel extends React.Component<Props> {
  render() {
    return <section>{this.props.label}</section>;
  }
}

export class Modal extends React.Component<Props> {
  render() {
    return <dialog>{this.props.label}</dialog>;
  }
}
